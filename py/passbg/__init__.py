"""passbg: passport-style photos with a clean background, computed on the user's own device.

The core (decode, preprocess, segment, composite, encode, pipeline) needs only numpy and Pillow, so the
same code runs in CPython and in Pyodide. Model inference is behind `passbg.segment.Backend`.
"""

__version__ = "0.1.0"
