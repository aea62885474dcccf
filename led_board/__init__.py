"""led_board"""
