"""Files: the image store, the export directory, and what an image file is.

What a file is comes from its bytes (imaging.py: sniffed, sized, thumbnailed); the token
marks live here too until token state moves to the database.
"""
