"""The exam's content weights.

Every skill counts with its topic's exam weight split evenly across the topic's skills (insights' weighted
mastery). The predicted scores themselves are the production predictor's (learner/predictor_scores.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from smartpractice.db.contexts import SkillRow, TopicRow


def skill_weights(*, skills: Sequence[SkillRow], topics: Sequence[TopicRow]) -> dict[int, float]:
    topic_weight = {t.id: t.exam_weight or 0.0 for t in topics}
    per_topic = Counter(s.topic_id for s in skills)
    weights = {s.id: topic_weight.get(s.topic_id, 0.0) / per_topic[s.topic_id] for s in skills}
    if sum(weights.values()) <= 0.0:  # a bank without weights: every skill counts the same
        return dict.fromkeys(weights, 1.0)
    return weights
