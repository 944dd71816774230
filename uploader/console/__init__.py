"""The console at /console/: every bucket of the S3 endpoint, seen and managed in a browser.

`rules` decides (pure), `store` talks to S3 and signs URLs for the browser, `views` is the blueprint.
Server-rendered with Jinja; `static/console.js` adds uploads, the copy button and live updates.
"""
