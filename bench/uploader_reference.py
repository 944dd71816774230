"""The issue's faster baseline, for the benchmark only: the reference design's /sign_s3/ with one reused
client under gunicorn (2 workers), no validation, client-chosen key, no display URL. Never deploy this.

    BENCH_S3_URL=http://127.0.0.1:5000 BENCH_BUCKET=b gunicorn -w 2 'bench.uploader_reference:create_app()'
"""

import os

from flask import Flask, jsonify, request

from common.s3 import make_s3_client
from common.settings import AwsSettings


def create_app() -> Flask:
    s3_url, bucket = os.environ["BENCH_S3_URL"], os.environ["BENCH_BUCKET"]
    s3 = make_s3_client(AwsSettings(aws_endpoint_url=s3_url))
    app = Flask(__name__)

    @app.get("/sign_s3/")
    def sign_s3():
        file_name = request.args.get("file_name", "")
        file_type = request.args.get("file_type", "")
        post = s3.generate_presigned_post(
            Bucket=bucket,
            Key=file_name,
            Fields={"acl": "public-read", "Content-Type": file_type},
            Conditions=[{"acl": "public-read"}, {"Content-Type": file_type}],
            ExpiresIn=3600,
        )
        return jsonify(data=post, url=f"{s3_url}/{bucket}/{file_name}")

    return app
