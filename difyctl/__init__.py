"""difyctl: the ops toolkit for teams that run Dify in production."""

__version__ = "0.1.0"
