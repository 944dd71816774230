"""Sample data for the stack: `python -m sample_client seed|unseed`, written as a user's own code would be.

Plain boto3, configured only by AWS_ENDPOINT_URL and the usual AWS_* variables, so that it doubles as the
example of pointing an application at the local endpoint.
"""
