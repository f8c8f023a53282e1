"""unspin's clustering as datatrove pipeline steps, staged like datatrove's MinHash dedup
(signatures, then clusters, then annotate or filter).

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from unspin.integrations.datatrove_cluster import (
        UnspinClusterSignatures, UnspinClusterBuild, UnspinClusterAnnotate)

    LocalPipelineExecutor(pipeline=[JsonlReader("crawl/"), UnspinClusterSignatures("work/sigs")],
                          tasks=8).run()
    LocalPipelineExecutor(pipeline=[UnspinClusterBuild("work/sigs", "work/clusters")], tasks=1).run()
    LocalPipelineExecutor(pipeline=[
        JsonlReader("crawl/"),
        UnspinClusterAnnotate("work/clusters"),          # drop_copies=True to keep one per cluster
        JsonlWriter("clustered/"),
    ], tasks=8).run()

1. :class:`UnspinClusterSignatures` (any number of tasks) writes, per task, every document's
   canonical tokens, LSH keys, fixed-token count, swapped share and spun score
   (``doc.metadata["unspin_score"]`` when an :class:`~unspin.integrations.datatrove.UnspinAnnotator`
   ran before it, else the fast tier's) to ``RANK.unspin-sig.npz``.
2. :class:`UnspinClusterBuild` (one task) buckets all keys, verifies candidate pairs by
   in-order containment, builds the clusters, chooses each one's source and writes
   ``RANK.unspin-clusters.json`` for every signature task.
3. :class:`UnspinClusterAnnotate` (the same tasks and reader as step 1, so documents come in the
   same order) writes ``unspin_cluster_id``, ``unspin_cluster_role``, ``unspin_cluster_source``,
   ``unspin_cluster_similarity`` and ``unspin_cluster_size`` into ``doc.metadata`` (flat keys,
   like :class:`~unspin.integrations.datatrove.UnspinAnnotator`). With ``drop_copies=True``
   copies are removed instead of passed on, counted as ``dropped`` and ``dropped_copy`` in the
   stats and sent to ``exclusion_writer`` when one is given. A source names its copies' cluster;
   a copy is never called spun here: that is the detector's verdict.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np

from ..errors import requires

requires("datatrove", "datatrove")

from datatrove.data import DocumentsPipeline  # noqa: E402
from datatrove.io import DataFolderLike, get_datafolder  # noqa: E402
from datatrove.pipeline.base import PipelineStep  # noqa: E402
from datatrove.utils.typeshelper import StatHints  # noqa: E402

from ..cluster.core import first_config, pairs_from_buckets, source_scores, verify_pairs  # noqa: E402
from ..cluster.fingerprint import canonical_forms, stats, token_hash  # noqa: E402
from ..cluster.group import annotations, choose_sources, components  # noqa: E402
from ..cluster.minhash import document_keys  # noqa: E402
from ..cluster.options import ClusterOptions  # noqa: E402
from ..cluster.verify import containment  # noqa: E402
from ..config import Config  # noqa: E402

SIG_SUFFIX = ".unspin-sig.npz"
CLUSTER_SUFFIX = ".unspin-clusters.json"


class UnspinClusterSignatures(PipelineStep):
    """Step 1: canonical tokens and LSH keys of every document, one file per task."""

    name = "unspin cluster 1: signatures"
    type = "DEDUP"

    def __init__(self, output_folder: DataFolderLike, options: ClusterOptions | None = None,
                 config: Config | None = None, batch_size: int = 256):
        super().__init__()
        self.output_folder = get_datafolder(output_folder)
        self.options = options or ClusterOptions()
        self.config = config or Config()
        self.batch_size = batch_size

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        ids, fixed, swapped, scores, tokens = [], [], [], [], []
        for doc in data:
            self.stat_update(StatHints.total)
            with self.track_time():
                forms = canonical_forms(doc.text)
                tokens.append(np.fromiter((token_hash(f[0]) for f in forms), dtype=np.uint64, count=len(forms)))
                nf, sw = stats(forms, doc.text)
                fixed.append(nf)
                swapped.append(sw)
                s = doc.metadata.get("unspin_score")
                if not isinstance(s, (int, float)):
                    s = source_scores([doc.text], first_config(self.config))[0]
                scores.append(math.nan if s is None else float(s))
                ids.append(json.dumps(doc.id, default=str))
        with self.track_time():
            keys = document_keys(tokens, self.options)
            buf = io.BytesIO()
            np.savez(buf, ids=np.array(ids, dtype=str), fixed=np.array(fixed, dtype=np.int64),
                     swapped=np.array(swapped, dtype=np.float64), score=np.array(scores, dtype=np.float64),
                     tokens=np.concatenate(tokens) if tokens else np.zeros(0, dtype=np.uint64),
                     toff=np.cumsum([0] + [len(t) for t in tokens]).astype(np.int64),
                     keys=np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64),
                     koff=np.cumsum([0] + [len(k) for k in keys]).astype(np.int64),
                     options=np.array(json.dumps(self.options.to_dict())))
            with self.output_folder.open(f"{rank:05d}{SIG_SUFFIX}", "wb") as fh:
                fh.write(buf.getvalue())
        return
        yield  # a generator that passes nothing on (like datatrove's MinhashDedupSignature)


class UnspinClusterBuild(PipelineStep):
    """Step 2 (one task): bucket, verify, cluster, choose sources; one result file per
    signature task."""

    name = "unspin cluster 2: clusters"
    type = "DEDUP"

    def __init__(self, input_folder: DataFolderLike, output_folder: DataFolderLike,
                 options: ClusterOptions | None = None):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.output_folder = get_datafolder(output_folder)
        self.options = options

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError("UnspinClusterBuild runs as a single task (tasks=1)")
        files = sorted(f for f in self.input_folder.list_files() if f.endswith(SIG_SUFFIX))
        tokens, ids, fixed, swapped, score, keys, kdocs, owner = [], [], [], [], [], [], [], []
        options = self.options
        with self.track_time():
            for fname in files:
                with self.input_folder.open(fname, "rb") as fh:
                    z = np.load(io.BytesIO(fh.read()))
                    z = {k: z[k] for k in z.files}
                opts = ClusterOptions(**json.loads(str(z["options"])))
                if options is None:
                    options = opts
                elif opts != options:
                    raise ValueError(f"{fname} was written with other ClusterOptions than the other files")
                base = len(tokens)
                n = len(z["ids"])
                toff, koff = z["toff"], z["koff"]
                rank_of = int(fname.split(".")[0])
                for k in range(n):
                    tokens.append(z["tokens"][toff[k]: toff[k + 1]])
                    owner.append((rank_of, k))
                ids += [json.loads(x) for x in z["ids"].tolist()]
                fixed += z["fixed"].tolist()
                swapped += z["swapped"].tolist()
                score += z["score"].tolist()
                keys.append(z["keys"])
                kdocs.append(np.repeat(np.arange(base, base + n, dtype=np.int64), np.diff(koff)))
            options = options or ClusterOptions()
            n = len(tokens)
            all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
            all_docs = np.concatenate(kdocs) if kdocs else np.zeros(0, dtype=np.int64)
            pairs = pairs_from_buckets(all_keys, all_docs, options.max_bucket)
            verified = verify_pairs(pairs, lambda i: tokens[i], options)
            self.stat_update("candidate_pairs", value=len(pairs))
            self.stat_update("verified_pairs", value=len(verified))
            groups = components(n, [(a, b) for a, b, _ in verified])
            sources = choose_sources(groups, lambda i: None if math.isnan(score[i]) else score[i],
                                     lambda i: fixed[i], lambda i: None, lambda i: swapped[i])
            known = {(a, b): c for a, b, c in verified}

            def similarity(i, src):
                key = (min(i, src), max(i, src))
                return known[key] if key in known else containment(tokens[i], tokens[src], options.min_run)

            marks = annotations(n, groups, sources, similarity, ids)
            per_rank: dict[int, list] = {}
            for (r, k), m in zip(owner, marks):
                per_rank.setdefault(r, []).append(m)
            self.stat_update("clusters", value=len(groups))
            for r, ms in per_rank.items():
                with self.output_folder.open(f"{r:05d}{CLUSTER_SUFFIX}", "w") as fh:
                    json.dump(ms, fh)
        return
        yield


class UnspinClusterAnnotate(PipelineStep):
    """Step 3: cluster fields into ``doc.metadata``; drop copies only when asked.

    Args:
        input_folder: the output folder of :class:`UnspinClusterBuild`.
        drop_copies: remove documents whose role is ``copy`` (one document per cluster, its
            source, goes on), counted as ``dropped_copy``.
        exclusion_writer: a datatrove writer that receives the dropped copies, with
            ``filter_reason = "unspin_copy"``.
    """

    name = "unspin cluster 3: annotate"
    type = "ANNOTATOR"

    def __init__(self, input_folder: DataFolderLike, drop_copies: bool = False, exclusion_writer=None):
        super().__init__()
        self.input_folder = get_datafolder(input_folder)
        self.drop_copies = drop_copies
        self.exclusion_writer = exclusion_writer

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import contextlib

        name = f"{rank:05d}{CLUSTER_SUFFIX}"
        if self.input_folder.exists(name):
            with self.input_folder.open(name, "r") as fh:
                marks = json.load(fh)
        else:
            marks = []
        writer_cm = self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        with writer_cm as writer:
            for idx, doc in enumerate(data):
                self.stat_update(StatHints.total)
                m = marks[idx] if idx < len(marks) else {"id": None, "role": "unique", "source": None,
                                                         "similarity": None, "size": 1}
                for key in ("id", "role", "source", "similarity", "size"):
                    doc.metadata[f"unspin_cluster_{key}"] = m[key]
                self.stat_update(m["role"])
                if self.drop_copies and m["role"] == "copy":
                    self.stat_update(StatHints.dropped, "dropped_copy")
                    if writer is not None:
                        doc.metadata["filter_reason"] = "unspin_copy"
                        writer.write(doc, rank)
                    continue
                self.stat_update(StatHints.forwarded)
                yield doc
