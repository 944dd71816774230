"""Who may do what: principals, request classification, ACLs and bucket policies, decided as S3 decides.

Pure functions; the WSGI layer that reads Moto's state and applies the verdicts is `layer.py`.
"""
