"""passbg's reference cloud endpoint: rembg's HTTP API (POST /api/remove) served by the passbg core.

Start it with `python -m passbg_server --port 7001 --origin http://127.0.0.1:8000` (see README.md).
"""
