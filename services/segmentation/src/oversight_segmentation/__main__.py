from oversight_segmentation.main import run

run()
