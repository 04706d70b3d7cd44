# Entry point of the page's Python worker: exposes passbg.web's functions to the page.
# Everything heavy (Python, numpy, onnxruntime-web) runs here, off the main thread.
from pyscript import sync

from passbg import web

web.set_progress(sync.progress)
sync.init = web.init
sync.process = web.process
sync.recomposite = web.recomposite
sync.result_bytes = web.result_bytes
sync.alpha_bytes = web.alpha_bytes
