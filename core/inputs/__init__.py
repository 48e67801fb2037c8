"""The bottom layer: from bytes to network inputs. Decoding and checking images (images.py) and
videos' frames (video_frames.py), the one input pipeline (pipeline.py), the process's budget of
decoded pixels (budget.py) and a request's deadline that every wait honours (deadline.py).
Imports nothing of core.model or core.analyses."""
