"""The kiosk's voice: what each step says (``scripts``), how it is said right
(``lexicon``), and the sound of it, made on the kiosk and offline (``synth``: Open JTalk
for Japanese, espeak-ng for English). At run time ``guide.VoiceGuide`` decides what is
heard and when; ``preparer`` makes the sounds on a worker thread, ``player`` plays them
through Kivy's SDL2 sound, ``tones`` makes the beep and the error tone, and ``recording``
writes what a screen said (the walkthrough's ``--voice``)."""
