"""HTTP plumbing shared by every view: authentication of the caller, the one error shape and the details of each
code, CORS, rate and abuse limits, input limits, conditional GETs, request metrics, the access log and gunicorn's
settings for ``serve``. Nothing here knows a resource."""
