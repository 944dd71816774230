"""Answers Moto 5.2.5 gets wrong for well-formed requests (listings, multipart, conditional writes,
checksums, CORS preflights): pure rules in `rules.py`, the WSGI layer that applies them in `layer.py`."""
