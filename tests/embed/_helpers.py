"""Small inputs shared by the embedder tests."""

TEXTS = [
    "Check out my channel, free iPhone giveaway!!",
    "win a free phone now, click the link",
    "I love this song so much",
    "",
    "😀😀😀",
]
