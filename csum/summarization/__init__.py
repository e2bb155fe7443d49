"""Video summarization, the CSUM task: cross-validated runs (``experiment``), unlabelled
collections (``collection``), the training-free rows (``baselines``), the printed table
(``report``), multi-phase runs (``phases``) and label-efficiency curves (``label_curve``)."""
