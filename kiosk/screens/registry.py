"""Every screen of the kiosk, and which one shows each step of the flow."""

from __future__ import annotations

from kiosk.flow import Step
from kiosk.screens.already_applied import AlreadyAppliedScreen
from kiosk.screens.base import FlowScreen
from kiosk.screens.busy import BusyScreen
from kiosk.screens.choose_service import ChooseServiceScreen
from kiosk.screens.confirm import ConfirmScreen
from kiosk.screens.consent import ConsentScreen
from kiosk.screens.entry import EntryScreen
from kiosk.screens.for_whom import ForWhomScreen
from kiosk.screens.my_page import MyPageScreen
from kiosk.screens.notice import NoticeScreen
from kiosk.screens.pin import PinScreen
from kiosk.screens.place_card import PlaceCardScreen
from kiosk.screens.slip import SlipScreen
from kiosk.screens.technician import TechnicianScreen
from kiosk.screens.welcome import WelcomeScreen

SCREENS: tuple[type[FlowScreen], ...] = (
    WelcomeScreen,
    ConsentScreen,
    ForWhomScreen,
    PlaceCardScreen,
    BusyScreen,
    PinScreen,
    NoticeScreen,
    AlreadyAppliedScreen,
    ChooseServiceScreen,
    EntryScreen,
    ConfirmScreen,
    MyPageScreen,
    SlipScreen,
    TechnicianScreen,
)

# step -> the name (``kind``) of the screen that shows it
SCREEN_OF: dict[Step, str] = {step: cls.kind for cls in SCREENS for step in cls.steps}

_missing = set(Step) - set(SCREEN_OF)
if _missing:  # pragma: no cover - a new step without a screen is a bug
    raise RuntimeError(f"steps without a screen: {sorted(_missing)}")
