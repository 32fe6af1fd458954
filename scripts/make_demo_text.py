"""Generate the self-made text demo ``epoxy_core/data/demo_files/support_messages.csv`` (and its gold labels).

Short customer-support messages in three classes (billing, shipping, technical), built from hand-written
templates and vocabulary with a seeded random generator, so the output is byte-for-byte reproducible:

    .venv/bin/python scripts/make_demo_text.py          # rewrite the files
    .venv/bin/python scripts/make_demo_text.py --check  # exit 1 if the files differ from a fresh build

The data is honest about being synthetic, and made so that labeling functions are imperfect, as in real data:

- about half the messages of each class use the obvious keywords ("refund", "package", "error"); the rest
  say the same thing in other words ("money back", "parcel", "keeps freezing"), which keyword LFs miss and
  the embedding extension can reach;
- some messages mention another class's keyword ("my package arrived but I was charged twice" is billing);
- a few words carry typos, and a few messages are vague ("hello? anyone there?") but still have a class.

``support_messages.csv`` holds ``message_id, split, channel, text, label`` with the label kept on about 10 %
of the train rows (the dev set); ``support_messages_gold.csv`` holds every row's label for benchmarks and
must never be shown to labeling functions.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[1] / "epoxy_core" / "data" / "demo_files"
SEED = 20060515
N_MESSAGES = 600
TEST_FRACTION = 1 / 6
DEV_FRACTION = 0.1
CLASSES = ("billing", "shipping", "technical")

# Slots shared by all templates.
SLOTS: dict[str, list[str]] = {
    "amount": ["$12.99", "$49", "$5.00", "$120", "€30", "£18.50", "$79.99", "$9.99"],
    "order": ["#48213", "#10932", "#77310", "#55120", "#30418", "#91827", "#62004", "#14455"],
    "days": ["two days", "three days", "a week", "ten days", "two weeks", "5 days"],
    "device": ["iPhone", "Android phone", "Windows laptop", "Mac", "tablet", "Chromebook"],
    "feature": ["the dashboard", "the settings page", "checkout", "the search bar", "notifications", "the export"],
    "item": ["headphones", "blender", "running shoes", "phone case", "desk lamp", "backpack", "coffee beans"],
    "plan": ["premium plan", "family plan", "yearly plan", "basic plan", "pro plan"],
    "month": ["March", "April", "last month", "this month", "January", "September"],
}

# Keyword templates use words the suggested LFs look for; paraphrase templates avoid them on purpose.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "billing": {
        "keyword": [
            "I was charged twice for order {order}, please refund the extra {amount}.",
            "Can I get a refund for my {plan}? I cancelled in {month}.",
            "Why was my card charged {amount} when I never upgraded?",
            "The invoice for {month} shows {amount} but my {plan} should be cheaper.",
            "My payment failed but the money still left my account.",
            "Please cancel my subscription, I keep getting charged {amount}.",
            "I need an invoice with my company name for order {order}.",
            "The discount code did not apply and I was charged full price.",
            "How do I update the card on my {plan}?",
            "Still waiting on the refund you promised for order {order}.",
        ],
        "paraphrase": [
            "I want my money back for the {plan}, it is not what was advertised.",
            "You took {amount} from my account twice this month.",
            "There is a strange {amount} fee on my bank statement from you.",
            "Please stop renewing my {plan} automatically, I never agreed to that.",
            "How much does the {plan} cost per month after the trial ends?",
            "I was billed for the {plan} even though I downgraded in {month}.",
            "Can you send me a receipt for {month}? My accountant needs it.",
            "The price went up by {amount} without any notice.",
            "Do you offer a student discount on the {plan}?",
            "My bank says the transaction from your shop is still pending.",
        ],
    },
    "shipping": {
        "keyword": [
            "My package for order {order} has not arrived after {days}.",
            "The tracking number for order {order} does not work.",
            "Delivery was supposed to be {days} ago, where is my {item}?",
            "The courier left my package at the wrong address.",
            "Order {order} says shipped but tracking has not updated in {days}.",
            "Can I change the delivery address for order {order}?",
            "The package arrived damaged and the {item} is broken.",
            "My {item} arrived but half of the order {order} is missing.",
            "Is express delivery available for the {item}?",
            "The courier never rang the bell, the package went back to the depot.",
        ],
        "paraphrase": [
            "Still no sign of my {item}, it has been {days}.",
            "Where is my parcel? Order {order} was placed {days} ago.",
            "The box was left in the rain and the {item} is soaked.",
            "I received someone else's {item} instead of mine.",
            "Do you ship to Canada, and how long does it take?",
            "The parcel shows as returned to sender, I never got it.",
            "My neighbour got my {item} delivered to their door.",
            "It has been {days} and the order still says processing.",
            "Can you send the {item} to my office instead of my home?",
            "The box came open and some items fell out on the way.",
        ],
    },
    "technical": {
        "keyword": [
            "The app crashes every time I open {feature} on my {device}.",
            "I get an error when I try to log in on my {device}.",
            "Password reset email never arrives, I cannot login.",
            "There is a bug in {feature}: nothing happens when I click save.",
            "Error 500 when I open {feature}.",
            "The app crashes after the latest update on my {device}.",
            "I forgot my password and the reset link is broken.",
            "Login fails with an unknown error on the {device}.",
            "Found a bug: {feature} shows the wrong numbers.",
            "Since the update {feature} crashes the whole app.",
        ],
        "paraphrase": [
            "The app keeps freezing on my {device} when I open {feature}.",
            "{feature} just shows a blank white screen.",
            "I cannot sign in anymore, it says my account does not exist.",
            "The page loads forever and then nothing happens on my {device}.",
            "Notifications stopped working on my {device} after the update.",
            "{feature} is extremely slow and sometimes closes by itself.",
            "The two-factor code never reaches my phone.",
            "Pictures do not load in {feature} on the {device}.",
            "My account got locked after I typed the wrong code.",
            "The {device} version looks broken, the buttons overlap.",
        ],
    },
}

# Messages whose class is not the one their keyword suggests: a real source of LF mistakes.
CROSS_TEMPLATES: dict[str, list[str]] = {
    "billing": [
        "My package arrived fine, but I was charged twice for it.",
        "The delivery fee of {amount} was added even though shipping was supposed to be free.",
        "The app showed an error at checkout, yet the money was taken from my account.",
    ],
    "shipping": [
        "The package never arrived, so I would like a refund or a new one.",
        "I paid {amount} for express delivery and it still took {days}.",
        "The tracking page shows an error, where is my {item}?",
    ],
    "technical": [
        "I cannot see the tracking page, the app crashes when I open it.",
        "The payment page gives an error on my {device}, I cannot finish the order.",
        "The refund button does nothing when I tap it on my {device}.",
    ],
}
# Vague messages: still one class (as the agent who answered decided), but hard for any rule.
VAGUE_TEMPLATES: dict[str, list[str]] = {
    "billing": ["Something is off with what you took from me this month.", "Question about my account balance."],
    "shipping": ["Hello? Is anyone there? Still waiting.", "Where is it??"],
    "technical": ["It does not work again.", "Nothing happens when I press the button."],
}

OPENERS = ["", "", "", "Hi, ", "Hello, ", "Hey there. ", "Good morning, ", "Dear support, "]
CLOSERS = ["", "", "", " Thanks.", " Thank you!", " Please help.", " This is urgent.", " Regards, Sam"]
CHANNELS = ["email", "chat", "app"]


def _typo(rng: random.Random, sentence: str) -> str:
    """Drop or swap a letter in one longer word, the kind of slip that makes keyword LFs miss."""
    words = sentence.split(" ")
    long_words = [i for i, word in enumerate(words) if sum(ch.isalpha() for ch in word) >= 6]
    if not long_words:
        return sentence
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    words[i] = word
    return " ".join(words)


def _fill(rng: random.Random, template: str) -> str:
    values = {slot: rng.choice(choices) for slot, choices in SLOTS.items()}
    text = template.format(**values)
    return text[0].upper() + text[1:]


def generate(seed: int = SEED, n_messages: int = N_MESSAGES) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Build the demo rows and the gold rows (deterministic for a given seed)."""
    rng = random.Random(seed)
    weights = {"billing": 0.33, "shipping": 0.37, "technical": 0.30}
    rows: list[dict[str, str]] = []
    gold: list[dict[str, str]] = []
    for message_id in range(1, n_messages + 1):
        label = rng.choices(CLASSES, weights=[weights[c] for c in CLASSES])[0]
        kind = rng.random()
        if kind < 0.06:
            template = rng.choice(VAGUE_TEMPLATES[label])
        elif kind < 0.16:
            template = rng.choice(CROSS_TEMPLATES[label])
        elif kind < 0.58:
            template = rng.choice(TEMPLATES[label]["keyword"])
        else:
            template = rng.choice(TEMPLATES[label]["paraphrase"])
        core = _fill(rng, template)
        if rng.random() < 0.08:
            core = _typo(rng, core)
        opener = rng.choice(OPENERS)
        if opener.endswith(", ") and not core.startswith(("I ", "I'")):
            core = core[0].lower() + core[1:]  # "Hi, my package ..." but "Hi, I was ..." and "Hey there. My ..."
        text = (opener + core + rng.choice(CLOSERS)).strip()
        rows.append(
            {
                "message_id": str(message_id),
                "split": "test" if rng.random() < TEST_FRACTION else "train",
                "channel": rng.choice(CHANNELS),
                "text": text,
                "label": label,
            }
        )
        gold.append({"message_id": str(message_id), "label": label})
    # Keep gold labels on a seeded ~10 % of the train rows only: the dev set.
    train = [i for i, row in enumerate(rows) if row["split"] == "train"]
    dev = set(rng.sample(train, round(DEV_FRACTION * len(rows))))
    for i, row in enumerate(rows):
        if i not in dev:
            row["label"] = ""
    return rows, gold


def _to_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def build() -> dict[str, str]:
    """File name -> CSV text of a fresh build."""
    rows, gold = generate()
    return {"support_messages.csv": _to_csv(rows), "support_messages_gold.csv": _to_csv(gold)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        stale = [name for name, text in files.items() if (OUT_DIR / name).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"{name} differs from a fresh build", file=sys.stderr)
        return 1 if stale else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT_DIR / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
