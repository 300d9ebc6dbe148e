"""Every screen of the kiosk, and which one shows each step of the flow."""

from __future__ import annotations

from kiosk.procedure.flow import Step
from kiosk.ui.screens.already_applied import AlreadyAppliedScreen
from kiosk.ui.screens.base import FlowScreen
from kiosk.ui.screens.busy import BusyScreen
from kiosk.ui.screens.choose_service import ChooseServiceScreen
from kiosk.ui.screens.confirm import ConfirmScreen
from kiosk.ui.screens.consent import ConsentScreen
from kiosk.ui.screens.entry import EntryScreen
from kiosk.ui.screens.for_whom import ForWhomScreen
from kiosk.ui.screens.my_page import MyPageScreen
from kiosk.ui.screens.notice import NoticeScreen
from kiosk.ui.screens.pin import PinScreen
from kiosk.ui.screens.place_card import PlaceCardScreen
from kiosk.ui.screens.platform import PlatformScreen
from kiosk.ui.screens.slip import SlipScreen
from kiosk.ui.screens.technician import TechnicianScreen
from kiosk.ui.screens.welcome import WelcomeScreen

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
    PlatformScreen,
    TechnicianScreen,
)

# step -> the name (``kind``) of the screen that shows it
SCREEN_OF: dict[Step, str] = {step: cls.kind for cls in SCREENS for step in cls.steps}

_missing = set(Step) - set(SCREEN_OF)
if _missing:  # pragma: no cover - a new step without a screen is a bug
    raise RuntimeError(f"steps without a screen: {sorted(_missing)}")
