"""The OpenAPI document a host imports: flask-smorest's generated document made importable (operation ids,
examples, the error shape on every error answer) plus one typed trigger operation per workflow query."""
