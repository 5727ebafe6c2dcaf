"""Django settings. Every value from the environment is read in ``tvshop.env``."""

from __future__ import annotations

from datetime import timedelta

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tvshop.env import BASE_DIR, VAR_DIR, read_env

ENV = read_env()

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins
EMBEDDED = ENV.embedded

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "import_export",
    "axes",
    "tvshop.accounts",
    "tvshop.audit",
    "tvshop.catalog",
    "tvshop.media",
    "crm",
    "orders",
    "logistics",
    "telephony",
    "telephony.callbacks",
    "telephony.routing",
    "telephony.cdr",
    "tvshop.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tvshop.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tvshop.urls"
WSGI_APPLICATION = "tvshop.wsgi.application"
ASGI_APPLICATION = "tvshop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tvshop.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
if ENV.database_url:
    DATABASES = {
        "default": dj_database_url.parse(ENV.database_url, conn_max_age=60, conn_health_checks=True)
    }
    # Server-side binding lets psycopg prepare a statement a connection runs 5+ times: the
    # screen-pop lookup then skips PostgreSQL's planning (docs/benchmarks.md). Behind
    # PgBouncer this needs session pooling (prepared statements live in the session).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery -----------------------------------------------
if not EMBEDDED and not ENV.redis_url:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. With DATABASE_URL (the server wiring) Redis carries the "
        "channel layer, the cache and the Celery broker, e.g. REDIS_URL=redis://127.0.0.1:6379/0."
    )

if ENV.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ENV.redis_url,
            "KEY_PREFIX": "tvshop",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # Measured (docs/architecture): the pub/sub layer holds p99 at 1,000 msg/s
            # where the default RedisChannelLayer drops group messages past ~600/s.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": ENV.redis_url}]},
        }
    }
    CELERY_BROKER_URL = ENV.redis_url
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    # Embedded wiring (documented): tasks run in the calling process.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Callback dispatcher (telephony/callbacks): every 10 s by beat; in the embedded default a
# loop in the web process runs it instead (telephony.callbacks.dispatcher).
CELERY_BEAT_SCHEDULE = {
    "callbacks-dispatch": {"task": "callbacks.dispatch", "schedule": 10.0},
    # overflow controller fallback (telephony/routing); the bridge side runs it every second
    "routing-overflow-tick": {"task": "routing.overflow_tick", "schedule": 5.0},
}
# Recording retention (telephony/supervision): daily at 03:30 Asia/Shanghai, a quiet hour.
from celery.schedules import crontab  # noqa: E402

# Points of delivered orders whose award task was lost (a set-based courier file hands
# them to tasks after commit; Redis keeps nothing on disk): a sweep every 10 minutes.
CELERY_BEAT_SCHEDULE["orders-points-sweep"] = {"task": "orders.points_sweep", "schedule": 600.0}
CELERY_BEAT_SCHEDULE["recordings-purge-expired"] = {
    "task": "telephony.recordings_purge_expired",
    "schedule": crontab(hour=3, minute=30),
}

# --- auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# One shift plus margin; a shared seat PC must not stay logged in overnight.
SESSION_COOKIE_AGE = int(timedelta(hours=10).total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the meta tag, not the cookie
SESSION_COOKIE_SECURE = not DEBUG and not EMBEDDED
CSRF_COOKIE_SECURE = not DEBUG and not EMBEDDED
X_FRAME_OPTIONS = "DENY"

# Lock-out: agents share NAT'ed IPs, so count failures per user name.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True
CURRENCY = "CNY"

# --- static ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end libraries come from the npm registry at set-up (package.json); only the
# built files are exposed, under static/vendor/.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
# Without `collectstatic` (embedded runs, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED or not (STATIC_ROOT / "staticfiles.json").exists()
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tvshop.api.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "tvshop.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tvshop.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TVShop CRM API",
    "VERSION": "0.1.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Choice sets shared by several fields get one stable name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "crm.choices.TicketStatus",
        "TicketKindEnum": "crm.choices.TicketKind",
        "TicketPriorityEnum": "crm.choices.TicketPriority",
        "LeadStatusEnum": "crm.choices.LeadStatus",
        "PhoneKindEnum": "crm.choices.PhoneKind",
        "CustomerLevelEnum": "crm.choices.CustomerLevel",
        "SalutationEnum": "crm.choices.Salutation",
        "ContactChannelEnum": "crm.choices.ContactChannel",
        "ScriptStageEnum": "crm.choices.ScriptStage",
        # orders API (payments, returns, merges)
        "OrderStatusEnum": "orders.choices.OrderStatus",
        "PaymentStatusEnum": "orders.choices.PaymentStatus",
        "PaymentMethodEnum": "orders.choices.PaymentMethod",
        "PaymentChannelEnum": "orders.choices.PaymentChannel",
        "ReturnReasonEnum": "orders.choices.ReturnReason",
        # orders API review actions (reject, cancel)
        "RejectReasonEnum": "orders.choices.RejectReason",
        # callbacks API
        "CallbackStatusEnum": "telephony.callbacks.choices.CallbackStatus",
        "CaptureReasonEnum": "telephony.callbacks.choices.CaptureReason",
        "CallbackOutcomeEnum": "telephony.callbacks.choices.CallbackOutcome",
        "DialResultEnum": "telephony.callbacks.choices.DialResult",
        "DispatchModeEnum": "telephony.callbacks.choices.DispatchMode",
        # logistics API
        "ImportKindEnum": "logistics.choices.ImportKind",
        "JobStateEnum": "logistics.choices.JobState",
        "ExportFormatEnum": "logistics.choices.ExportFormat",
        "ColumnSourceEnum": "logistics.choices.ColumnSource",
        "RemittanceResultEnum": "logistics.choices.RemittanceResult",
    },
}

EMAIL_BACKEND = ENV.email_backend

# FreeSWITCH event socket. Without ESL_HOST the embedded wiring starts the built-in
# simulator on this address (telephony/simulator).
TELEPHONY_ESL = {
    "host": ENV.esl_host or "127.0.0.1",
    "port": ENV.esl_port,
    "password": ENV.esl_password or "ClueCon",
    "simulated": ENV.esl_host is None,
}
# CDRs (telephony/cdr): the HTTP Basic credentials mod_json_cdr posts with (CDR_USERNAME /
# CDR_PASSWORD; required with ESL_HOST, an embedded default otherwise).
TELEPHONY_CDR = {"username": ENV.cdr_username, "password": ENV.cdr_password}
# After-call work (业务后处理): seconds before the agent is made ready again, and whether
# it starts by itself when an answered call ends.
TELEPHONY_ACW_SECONDS = 30
TELEPHONY_ACW_AUTO = True
# Caller id for click-to-dial when the customer has no source station with a hotline.
TELEPHONY_DEFAULT_CALLER_ID = "4008001234"
# How long a click-to-dial request waits for a fast verdict (phone not registered, switch
# refuses) before answering "ringing you"; later outcomes arrive as dial.progress messages.
TELEPHONY_DIAL_WAIT_SECONDS = 1.0
# Callbacks (回电管理): dispatcher gate, retries (号码回收) and priority weights; every key
# is optional (defaults and meaning in telephony/callbacks/services.py DEFAULTS).
CALLBACKS = {
    "MIN_IDLE_AGENTS": 1,
    "MAX_ATTEMPTS": 3,
    "RETRY_BASE_SECONDS": 300,
    # the callback preview pop on the agent desktop (telephony.consumers.callback_offered)
    "PUSH_OFFERS": True,
}
# Supervision (telephony/supervision): trunk channels in total (3 E1 = 90), the service-level
# target (answered within N seconds of queueing), how often the wallboard re-sends its
# snapshot, how long a supervision command waits for the switch's verdict, and where
# recordings are: the folder the app reads, and the prefix of the paths the switch reports
# (re-rooted into that folder; e.g. /var/lib/freeswitch/recordings).
TELEPHONY_TRUNK_CAPACITY = 90
TELEPHONY_SERVICE_LEVEL_SECONDS = 20
TELEPHONY_WALLBOARD_REFRESH_SECONDS = 15.0
TELEPHONY_SUPERVISE_WAIT_SECONDS = 2.0
TELEPHONY_RECORDINGS_ROOT = VAR_DIR / "recordings"
TELEPHONY_RECORDINGS_SWITCH_PREFIX = ""
# Days recordings are kept (telephony.recordings_purge_expired task); None keeps them.
TELEPHONY_RECORDINGS_RETENTION_DAYS = None

IMPORT_EXPORT_SKIP_ADMIN_ACTION_EXPORT_UI = False

TVSHOP = {
    # Days within which an unshipped order of the same customer/phone/address warns.
    "DUPLICATE_ORDER_DAYS": 7,
}

# Order entry (orders.services.entry): the duplicate-order window in days, the total from
# which an order is flagged "large amount" for the reviewers (CNY), and how long after an
# airing ends orders are still attributed to it (minutes).
ORDERS_DUPLICATE_DAYS = TVSHOP["DUPLICATE_ORDER_DAYS"]
ORDERS_LARGE_AMOUNT = "2000.00"
ORDERS_SLOT_GRACE_MINUTES = 30

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# axes.W006 asks to lock by IP too. Agents sit behind one NAT address: locking by IP would
# let five typos lock the whole call center out. We lock per user name (see AXES_*).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
