"""The province service: every site's events through Mosquitto bridges into PostgreSQL, one view."""
