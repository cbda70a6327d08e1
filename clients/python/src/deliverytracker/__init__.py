"""DeliveryTracker for Python: every query as a method with typed answers (`to_frame()` for
pandas), submissions with a read-your-writes token, and a live feed that heals itself."""
from .client import Client, Submitted, entity
from .errors import DeliveryError, FeedSilent, NoReply
from .facts import FactFeed
from .feed import Subscription, Update
from .results import Answer, Brief, EntityRef, Panel, Ranking, Series, Units

__all__ = [
    "Answer", "Brief", "Client", "DeliveryError", "EntityRef", "FactFeed", "FeedSilent", "NoReply", "Panel", "Ranking", "Series", "Submitted",
    "Subscription", "Units", "Update", "entity",
]
__version__ = "0.1.0"
