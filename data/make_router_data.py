#!/usr/bin/env python3
"""Writes router.jsonl: labelled queries for the default composition's router.

Categories: code (programming requests, answered by Qwen2.5-Coder), completion
(text to continue, answered by the Gemma 3 270M base model), stories
(children's stories, answered by stories260K), general (questions for the
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

# --- code: programming requests, composed ----------------------------------
languages = ["Python", "JavaScript", "C++", "Rust", "Go", "Java", "TypeScript", "C", "Bash", "SQL"]
code_tasks = ["reverses a list", "checks whether a string is a palindrome", "sorts an array of numbers",
              "reads a CSV file", "computes the factorial of n", "finds the largest element of a list",
              "merges two sorted lists", "counts the words in a text", "parses a JSON string",
              "removes duplicates from a list", "returns the n-th Fibonacci number", "validates an email address",
              "implements binary search", "flattens a nested list", "converts Celsius to Fahrenheit",
              "sums the even numbers of a list", "capitalizes every word of a sentence", "checks if a number is prime"]
code_frames = ["Write a {l} function that {t}.", "How do I write code in {l} that {t}?",
               "Implement a function in {l} that {t}.", "Show me {l} code that {t}.",
               "Can you write a {l} program that {t}?", "Give me a {l} snippet that {t}.",
               "Fix my {l} function that {t}; it crashes on empty input.",
               "What is the time complexity of a {l} function that {t}?",
               "Write unit tests in {l} for a function that {t}.", "Refactor this {l} code that {t}."]
code_questions = ["What is a segmentation fault?", "Explain recursion with a code example.",
                  "What does the yield keyword do in Python?", "How do I declare a pointer in C?",
                  "What is the difference between a list and a tuple in Python?", "How do closures work in JavaScript?",
                  "What is a race condition in multithreaded code?", "How do I undo the last git commit?",
                  "Why does my Python loop print None?", "What is a hash map and when should I use one?",
                  "How do I read a file line by line in Python?", "What is dependency injection?",
                  "Explain big O notation for sorting algorithms.", "How do I center a div in CSS?",
                  "What is the borrow checker in Rust?", "How do I write a SQL query that joins two tables?"]

# --- completion: text for the base model to continue ---------------------
openings = ["It was a dark and stormy night, and", "The best way to learn a new language is",
            "In the year 2050, cities will", "The old lighthouse keeper looked at the sea and",
            "The three most important things in life are", "When the train finally stopped,",
            "Scientists have recently discovered that", "My favourite thing about autumn is",
            "The recipe starts with two cups of flour and", "Once the meeting was over, she",
            "The history of the bicycle begins", "At the edge of the forest there was",
            "A good morning routine includes", "The letter began with the words",
            "Nobody expected the little robot to", "The most surprising fact about the ocean is"]
completion_frames = ["Complete the sentence: {o}", "Continue this text: {o}", "Finish this sentence: {o}",
                     "Continue the paragraph: {o}", "Complete: {o}", "Continue writing: {o}",
                     "Complete the following text. {o}", "Carry on from here: {o}"]

# --- general: short factual and how/why questions, composed ---------------
topics = ["France", "Japan", "the Moon", "photosynthesis", "the Roman Empire", "gravity", "the heart", "volcanoes",
          "the internet", "Shakespeare", "electricity", "the ocean tides", "democracy", "vaccines", "Mount Everest",
          "the speed of light", "a rainbow", "inflation", "DNA", "the printing press"]
general_frames = ["What is {t}?", "Explain {t} in simple terms.", "Who discovered {t}?", "How does {t} work?",
                  "Why is {t} important?", "What is the capital of {t}?", "Give me three facts about {t}.",
                  "When did {t} begin?", "Summarize the history of {t}.", "What causes {t}?"]

common_questions = ["What is the boiling point of water?", "How far is the Moon from the Earth?",
                    "Why is the sky blue?", "How many legs does a spider have?", "What is the largest planet?",
                    "Who wrote Romeo and Juliet?", "What is the tallest mountain in the world?",
                    "How many continents are there?", "What do bees make?", "Why do leaves change colour in autumn?",
                    "What is the freezing point of water in Fahrenheit?", "Who painted the Mona Lisa?",
                    "How does a rainbow form?", "What is the longest river on Earth?", "What language is spoken in Brazil?",
                    "How many days are in a leap year?", "What gas do plants absorb?", "Write a haiku about the sea.",
                    "Give me a tip for sleeping better.", "What is a good name for a pet goldfish?",
                    "Translate 'good morning' into Spanish.", "Suggest a healthy breakfast.",
                    "What is the difference between weather and climate?", "Explain how a CPU cache works.",
                    "Why do we have seasons?", "What is the square root of 144?", "Who was Albert Einstein?",
                    "What are the primary colours?", "How do airplanes stay in the air?", "What is a black hole?"]

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
rows += [("code", t) for t in compose(code_frames, languages, code_tasks, 284, "l", "t") + code_questions]
rows += [("completion", t) for t in compose(completion_frames, openings, [""], 120, "o", "unused")]
rows += [("general", t) for t in compose(general_frames, topics, [""], 150, "t", "unused") + mmlu_questions(150)
          + gsm8k_questions(100) + common_questions]
rows += [("oos", t) for t in clinc_actions(200) + oos_utility]
for label, text in rows:
    print(json.dumps({"text": text, "label": label}, ensure_ascii=False))
