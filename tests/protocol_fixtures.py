"""What the protocol says, typed by hand from protocol.md, for tests of several folders."""

# protocol.md section 4, held-out table: task id -> (metric, mode). Written from the spec.
HELD_OUT = {
    "nocaps": ("cider", "generate"),
    "flickr30k": ("cider", "generate"),
    "gqa": ("exact_match", "generate"),
    "vsr": ("accuracy", "rank"),
    "iconqa": ("accuracy", "rank"),
    "textvqa": ("vqa_accuracy", "generate"),
    "visdial": ("mrr", "rank"),
    "hateful_memes": ("roc_auc", "rank"),
    "vizwiz": ("vqa_accuracy", "generate"),
    "scienceqa_img": ("accuracy", "rank"),
    "msvd_qa": ("accuracy", "rank"),
    "msrvtt_qa": ("accuracy", "rank"),
    "ivqa": ("ivqa_accuracy", "generate"),
}
