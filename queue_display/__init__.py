"""The hall display: a full-screen kivy board of the queue and Vietnamese voice announcements.

numbers (reading numbers aloud) and announce (what is said) are pure; voicepack assembles clips;
audio and playback play them; board is the screen's model; service is the daemon; screen/view draw
it with kivy; cli is `motcua display | announce | voicepack`.
"""
