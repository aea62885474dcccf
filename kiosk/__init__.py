"""The citizen touchscreen kiosk (`motcua kiosk`, `python -m kiosk`): take a number, check a dossier,
find a procedure, rate the service.

kiosk/model.py decides everything (pure, tested without a screen); kiosk/controller.py joins it to MQTT
and the hub's RPC; kiosk/screens.py and kiosk/app.py draw it with kivy.
"""
