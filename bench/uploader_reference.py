"""The reference design, only as the benchmark's baseline: a new S3 client per request, Flask's dev server.

`python -m bench.uploader_reference PORT S3_URL BUCKET` serves GET /sign_s3/ the way the original tutorial
app does (no validation, client-chosen key). Never deploy this.
"""

import sys

from flask import Flask, jsonify, request

from common.s3 import make_s3_client
from common.settings import AwsSettings


def create_reference_app(s3_url: str, bucket: str) -> Flask:
    app = Flask(__name__)

    @app.get("/sign_s3/")
    def sign_s3():
        s3 = make_s3_client(AwsSettings(aws_endpoint_url=s3_url))
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


if __name__ == "__main__":
    port, s3_url, bucket = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    create_reference_app(s3_url, bucket).run(host="127.0.0.1", port=port, threaded=True)
