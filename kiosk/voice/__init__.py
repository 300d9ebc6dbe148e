"""The kiosk's voice: what each step says (``scripts``), how it is said right
(``lexicon``), and the sound of it, made on the kiosk and offline (``synth``: Open JTalk
for Japanese, espeak-ng for English)."""
