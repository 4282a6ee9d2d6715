"""The App Home: what it shows (``view``) and publishing it to whoever looked lately
(``publishing``), built from the store just before each publish."""
