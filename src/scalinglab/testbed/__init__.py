"""Testbed: train small transformers on real corpora, finetune (FMT / LoRA / prompt tuning),
evaluate CE, BLEU and accuracy, and emit rows in the scalinglab schema. Needs PyTorch
(`pip install 'scalinglab[testbed]'`); the core fitting install does not."""
