"""passbg: passport-style photos with a clean background, computed on the user's own device.

Subpackages in the order of the data path, each importing only those before it (tests/test_layers.py):

    numeric   box filters, row strips, connected components, colour maths (no domain knowledge)
    core      decode -> preprocess -> model (Backend) -> matte -> subjects -> foreground -> composite
              -> encode, put together by pipeline
    quality   the checks of a finished cut-out and its 0-100 score
    passport  country presets, face landmarks, crop, digital file, print sheets
    app       the command line, the page's Python worker, the cloud client

The core needs only numpy and Pillow, so the same code runs in CPython and in Pyodide; model inference
is behind `passbg.core.backend.Backend`. Errors are `passbg.errors` (plain sentences for the user).
"""

__version__ = "0.1.0"
