"""The trainable CSUM model: the ``Summarizer`` (backbone g and projector h) built from a
``ModelSpec`` (``summarizer``), the contrast residual (``residual``), the banks of negatives
(``banks``) and the collection contrast that becomes a model input (``contrast``)."""
