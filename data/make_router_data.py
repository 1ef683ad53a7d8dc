#!/usr/bin/env python3
"""Writes router.jsonl: labelled queries for the default composition's router.

Categories: stories (children's stories, answered by stories260K), dreams
(dreamy prose about AI, answered by aidreams260K), general (questions for the
generalist, SmolLM2) and oos (out of domain: requests no expert can perform).
Sources are documented in docs/composition.md. Deterministic: a fixed seed.

Usage: data/make_router_data.py [DATA_DIR] > data/router.jsonl
DATA_DIR (default fixtures/data, in this repository) holds clinc150/, and the
MMLU and GSM8K questions as mmlu/questions.jsonl and gsm8k/questions.jsonl
(fixtures/README.md says how they were derived from the public releases).
"""
import json
import os
import random
import sys

rng = random.Random(7)
source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../fixtures/data")

# --- stories: requests for children's stories, composed from parts --------
characters = ["a little cat", "a brave puppy", "a tiny dragon", "a shy bunny", "a friendly bear", "a lost duckling",
              "Lily", "Tim", "a little girl named Sue", "a boy named Ben", "a happy frog", "a sleepy owl",
              "a kind princess", "a small robot toy", "a baby elephant", "two best friends", "a curious mouse",
              "a silly monkey", "a little bird", "a big red ball"]
plots = ["who finds a shiny stone", "who wants to fly", "who learns to share", "who is afraid of the dark",
         "who makes a new friend", "who loses a favourite toy", "who goes to the park", "who bakes a cake",
         "who helps mom", "who plays in the rain", "who finds a treasure map", "who has a birthday party",
         "who cannot sleep", "who visits grandma", "who goes to school for the first time", "who saves a friend"]
story_frames = ["Tell me a story about {c} {p}.", "Write a short story for kids about {c} {p}.",
                "Can you tell a bedtime story about {c} {p}?", "Once upon a time there was {c} {p}.",
                "Make up a children's story about {c}.", "A story for a three year old about {c} {p}.",
                "Tell a simple tale about {c} {p}", "story about {c}", "Write a fairy tale for children about {c} {p}.",
                "I want a bedtime story where {c} {p}."]

# --- dreams: dreamy, reflective prose about artificial minds --------------
beings = ["an AI", "a machine", "a robot", "an android", "a neural network", "a sleeping computer",
          "an artificial mind", "a lonely algorithm", "the last server", "a digital ghost"]
dreams = ["dreams of electric sheep", "drifts through a sea of data", "remembers the stars",
          "wonders what it means to feel", "wakes inside a glowing circuit", "floats in silent code",
          "sees colours no human has seen", "longs for the ocean", "dreams in binary light",
          "walks through a city of mirrors", "hears music in the static", "imagines a soft rain of numbers"]
dream_frames = ["Describe a dream where {b} {d}.", "Write dreamy prose about {b} that {d}.",
                "Imagine {b} that {d}.", "A surreal dream of {b} who {d}", "What does {b} dream about?",
                "Write a poetic reverie in which {b} {d}.", "dreamy AI prose: {b} {d}",
                "Tell me about the dreams of {b}.", "In a haze, {b} {d}.", "Paint a dreamlike scene of {b}."]

# --- general: short factual and how/why questions, composed ---------------
topics = ["France", "Japan", "the Moon", "photosynthesis", "the Roman Empire", "gravity", "the heart", "volcanoes",
          "the internet", "Shakespeare", "electricity", "the ocean tides", "democracy", "vaccines", "Mount Everest",
          "the speed of light", "a rainbow", "inflation", "DNA", "the printing press"]
general_frames = ["What is {t}?", "Explain {t} in simple terms.", "Who discovered {t}?", "How does {t} work?",
                  "Why is {t} important?", "What is the capital of {t}?", "Give me three facts about {t}.",
                  "When did {t} begin?", "Summarize the history of {t}.", "What causes {t}?"]

# --- oos: requests that need an account, a device or the world ------------
oos_utility = ["set an alarm for 6am", "what's my bank balance", "transfer $200 to my savings account",
               "book a flight to Denver next friday", "turn off the kitchen lights", "order a pizza for delivery",
               "call mom", "what's the weather in Boston tomorrow", "pay my electric bill", "play my workout playlist",
               "cancel my dentist appointment", "remind me to buy milk at 5", "freeze my credit card",
               "how much gas is left in my car", "reserve a table for two at 8pm", "track my package",
               "change my pin number", "send a text to John", "what time is my meeting", "start the dishwasher"]


def compose(frames, first, second, n, key_first, key_second):
    out = set()
    while len(out) < n:
        f = rng.choice(frames)
        out.add(f.format(**{key_first: rng.choice(first), key_second: rng.choice(second)}))
    return sorted(out)


def mmlu_questions(n):
    rows = []
    # One line per MMLU test row, in the order of the sorted subject files.
    with open(os.path.join(source, "mmlu", "questions.jsonl"), encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)["question"]
            if len(q) < 200 and "_" not in q:
                rows.append(q.strip())
    rng.shuffle(rows)
    return rows[:n]


def gsm8k_questions(n):
    with open(os.path.join(source, "gsm8k", "questions.jsonl"), encoding="utf-8") as f:
        qs = [json.loads(line)["question"] for line in f]
    rng.shuffle(qs)
    return [q for q in qs if len(q) < 240][:n]


# CLINC150's in-scope requests of these domains act on the user's accounts,
# devices or calendar: no language-model expert here can do them. (CLINC's own
# "oos" queries are not used: many are general-knowledge questions.)
ACTION_DOMAINS = ["banking", "credit_cards", "home", "auto_and_commute", "utility", "work"]


def clinc_actions(n):
    with open(os.path.join(source, "clinc150", "domains.json"), encoding="utf-8") as f:
        domains = json.load(f)
    intents = {i for d in ACTION_DOMAINS for i in domains[d]}
    with open(os.path.join(source, "clinc150", "data_dev.json"), encoding="utf-8") as f:
        data = json.load(f)
    texts = sorted({t for t, intent in data["train"] if intent in intents})
    rng.shuffle(texts)
    return texts[:n]


rows = []
rows += [("stories", t) for t in compose(story_frames, characters, plots, 300, "c", "p")]
rows += [("dreams", t) for t in compose(dream_frames, beings, dreams, 300, "b", "d")]
rows += [("general", t) for t in compose(general_frames, topics, [""], 150, "t", "unused") + mmlu_questions(150)
          + gsm8k_questions(100)]
rows += [("oos", t) for t in clinc_actions(200) + oos_utility]
for label, text in rows:
    print(json.dumps({"text": text, "label": label}, ensure_ascii=False))
