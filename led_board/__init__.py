"""led_board: counter and hall LED boards, counter keypads and rating buttons.

A `Board` (board.py) is driven by a view of the queue (views.py, model.py); real drivers are RS-485
Modbus modules (modbus.py), MAX7219 matrices (max7219.py) and a simulator (simulated.py). Presses
from GPIO buttons and USB keypads (inputs.py) become hub requests exactly once (desk.py). The
daemon (daemon.py) wires them to MQTT; `motcua led` / `python -m led_board` runs it (cli.py).
"""
