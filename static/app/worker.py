# Entry point of the page's Python worker: exposes passbg.app.web's functions to the page.
# Everything heavy (Python, numpy, onnxruntime-web) runs here, off the main thread.
from pyscript import sync

from passbg.app import web

web.set_progress(sync.progress)
sync.init = web.init
sync.process = web.process
sync.recomposite = web.recomposite
sync.result_bytes = web.result_bytes
sync.alpha_bytes = web.alpha_bytes
sync.quality_overlay = web.quality_overlay
sync.cloud_prepare = web.cloud_prepare
sync.cloud_upload_bytes = web.cloud_upload_bytes
sync.process_cloud = web.process_cloud
sync.presets_list = web.presets_list
sync.passport = web.passport
sync.custom_check = web.custom_check
sync.passport_file = web.passport_file
sync.passport_bytes = web.passport_bytes
