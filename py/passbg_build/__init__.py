"""passbg's build, one module per step or concern (Python 3.11+ standard library only: `python build.py`
runs it before any venv exists).  Never shipped to the browser: the site gets py/passbg only.

    report      progress lines, BuildError
    files       sha256, HashMemo, Pins (build/pins.json), atomic writes, read_json, remove_stale
    fetch       run a command, HTTP and pip downloads, one-line network reasons
    layout      Layout (where sources and outputs are), Context (what the steps share), REPO
    npm         step 1: node_modules from package-lock.json
    pyodide     step 2: the Pyodide wheels, verified against pyodide-lock.json
    runtime     step 3: static/vendor/ (pyodide, pyscript, onnxruntime-web)
    models      step 4: static/models/ and manifest.json
    converter   the build-only converter venv: TFLite face models to ONNX, wasm-friendly model variants
    site        step 5: site/ (the page, static/, py/passbg.zip, build-info.json)
    offline     site/precache.json and site/sw.js (build id, isolation headers, MIME types stamped in)
    headers     the isolation headers and MIME types (http-headers.json), shared by serve and offline
    bench_site  step 6: site-bench/, the peer library's page for the benchmark (py/passbg_dev/bench.py)
    venv        step 7: .venv with passbg installed editable
    serve       the static server with the isolation headers (python build.py serve)
    cli         the commands (build, serve, test, pin), their parser, main()
"""
