"""cotlit: distil chain-of-thought reasoning from teacher LLMs into small students."""

__version__ = "0.1.0"
