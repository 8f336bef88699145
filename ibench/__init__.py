"""ibench: evaluation benchmark suite for InstructBLIP-family vision-language models."""

__version__ = "0.1.0"
