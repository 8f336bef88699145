"""Tiny random-weight stand-ins of every model family, built locally (no hub): base.py what
they share, blip.py InstructBLIP and InstructBLIP-Video, llava_qwen.py LLaVA-style and
Qwen2-VL-style models, checkpoints.py writing and caching them."""
