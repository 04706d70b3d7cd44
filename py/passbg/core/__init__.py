"""The core image path, the same in CPython and Pyodide (numpy and Pillow only, no browser imports):
decode -> preprocess -> model (a Backend) -> matte -> subjects -> foreground -> composite -> encode,
put together by pipeline. Backgrounds and the model catalogue are data (passbg/data)."""
