"""Running the site from the browser: live edits of the site configuration and their audit log.

`edits` is pure (a new HubConfig from the current one and an edit, validated by the TOML's rules);
`store` keeps the live configuration and the audit log in the hub's SQLite file.
"""
