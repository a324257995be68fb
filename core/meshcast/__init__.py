"""meshcast: captures in, clean aligned meshes out.

Layering (imports only go one way): ``jobs`` (stdlib only) and ``errors``; ``scene`` and
``mesh``/``metrics``; ``fields``/``render`` <- ``train`` <- ``extract`` <- ``cli``.
"""

__version__ = "0.4.0"
