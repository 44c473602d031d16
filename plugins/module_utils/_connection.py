# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where keyturn.aws builds AWS sessions and clients.

* credentials: explicit keys, a named profile, or botocore's default chain;
* ``assume_role`` into a member account (the base identity stays available
  for stores that live in a central security account);
* clients are cached per (service, region, credentials) and safe to share
  between worker threads; botocore retries throttling with adaptive back-off
  and never retries authentication errors (callers that need to wait for IAM
  propagation do it themselves, explicitly); a call AWS keeps throttling is
  retried beyond botocore's budget (:mod:`._throttle_retry`), on every client;
* endpoints and signing regions come from :mod:`._partitions`.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

try:
    import botocore.config
    import botocore.credentials
    import botocore.exceptions
    import botocore.session

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by the adapters
    HAS_BOTO3 = False

from ansible_collections.keyturn.aws.plugins.module_utils._errors import (
    KeyturnError,
    PartitionError,
    ValidationError,
    translate_aws_error,
)
from ansible_collections.keyturn.aws.plugins.module_utils._partitions import (
    PartitionInfo,
    partition_of_arn,
    resolve,
)
from ansible_collections.keyturn.aws.plugins.module_utils._throttle_retry import register as register_throttle_retry

USER_AGENT = "keyturn.aws/0.1.0"
# botocore sessions are not thread-safe while creating clients; clients are.
_CREATE_LOCK = threading.Lock()
# What a keyed client signs with when no key was set for the calling thread: it never authenticates.
_UNSET = ("KEYTURNUNSETKEY00000", "keyturn-no-key-was-set-for-this-call", None)


class _SigningKey(threading.local):
    """The key the calling thread's next request of a keyed client is signed with."""

    credentials: t.Any = None


def _sign_with_thread_key(slot: _SigningKey) -> t.Callable[..., None]:
    def handler(request: t.Any, **_kwargs: t.Any) -> None:
        if slot.credentials is not None:
            request.context.setdefault("signing", {})["request_credentials"] = slot.credentials
    return handler


class KeyedClient:
    """A shared client that signs every call with one access key (see :meth:`AwsConnection.keyed_client`)."""

    def __init__(self, client: t.Any, slot: _SigningKey, credentials: t.Any) -> None:
        self._client = client
        self._slot = slot
        self._credentials = credentials
        self.meta = client.meta
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> t.Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(*args: t.Any, **kwargs: t.Any) -> t.Any:
            slot = self._slot
            slot.credentials = self._credentials
            try:
                return method(*args, **kwargs)
            finally:
                slot.credentials = None
        return call


@dataclasses.dataclass(frozen=True)
class AssumeRole:
    role_arn: str
    external_id: t.Optional[str] = None
    session_name: str = "keyturn-aws"
    duration_seconds: int = 3600

    def __repr__(self) -> str:  # external_id is a shared secret: never show it
        return f"AssumeRole(role_arn={self.role_arn!r}, session_name={self.session_name!r})"


@dataclasses.dataclass(frozen=True)
class ConnectionParams:
    access_key: t.Optional[str] = None
    secret_key: t.Optional[str] = None
    session_token: t.Optional[str] = None
    profile: t.Optional[str] = None
    region: t.Optional[str] = None
    endpoint_url: t.Optional[str] = None
    aws_ca_bundle: t.Optional[str] = None
    validate_certs: bool = True
    assume_role: t.Optional[AssumeRole] = None

    def __repr__(self) -> str:
        return (
            f"ConnectionParams(access_key={self.access_key!r}, profile={self.profile!r}, region={self.region!r}, "
            f"endpoint_url={self.endpoint_url!r}, assume_role={self.assume_role!r})"
        )

    def validate(self) -> None:
        if bool(self.access_key) != bool(self.secret_key):
            raise ValidationError("access_key and secret_key must be given together (or neither, to use a profile or the environment)")
        if self.profile and self.access_key:
            raise ValidationError("give either profile or access_key/secret_key, not both")
        if self.session_token and not self.access_key:
            raise ValidationError("session_token needs access_key and secret_key")
        if self.endpoint_url and not self.endpoint_url.startswith(("http://", "https://")):
            raise ValidationError(f"endpoint_url must start with http:// or https://, got {self.endpoint_url!r}")
        if self.assume_role is not None:
            arn = self.assume_role.role_arn
            if not (isinstance(arn, str) and arn.startswith("arn:") and ":role/" in arn and len(arn.split(":")) >= 6):
                raise ValidationError(f"assume_role.role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>), got {arn!r}")
            if not 900 <= self.assume_role.duration_seconds <= 43200:
                raise ValidationError("assume_role.duration_seconds must be between 900 and 43200")


def _client_config(max_pool: int, retry_mode: str, max_attempts: int, connect_timeout: float, read_timeout: float) -> t.Any:
    return botocore.config.Config(
        retries={"mode": retry_mode, "max_attempts": max_attempts},
        max_pool_connections=max_pool,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra=USER_AGENT,
    )


class AwsConnection:
    """Sessions and clients for one identity (base or assumed) in one region."""

    def __init__(
        self,
        params: ConnectionParams,
        *,
        max_pool: int = 10,
        retry_mode: str = "adaptive",
        max_attempts: int = 8,
        connect_timeout: float = 10,
        read_timeout: float = 60,
        _credentials: t.Optional[t.Tuple[str, str, t.Optional[str]]] = None,
        _botocore_session: t.Any = None,
    ) -> None:
        if not HAS_BOTO3:
            raise KeyturnError("boto3 and botocore are required on the controller (pip install boto3 botocore)")
        params.validate()
        if not params.region:
            raise ValidationError("region is required: set the region option, module_defaults group/keyturn.aws.aws, or AWS_REGION")
        self.params = params
        self.info: PartitionInfo = resolve(params.region)
        self._config = _client_config(max_pool, retry_mode, max_attempts, connect_timeout, read_timeout)
        self._lock = threading.Lock()
        self._clients: t.Dict[t.Tuple[str, str, bool], t.Any] = {}
        self._keyed: t.Dict[t.Tuple[str, str], t.Tuple[t.Any, _SigningKey]] = {}
        self._settings = dict(
            max_pool=max_pool, retry_mode=retry_mode, max_attempts=max_attempts,
            connect_timeout=connect_timeout, read_timeout=read_timeout,
        )
        if _botocore_session is not None:
            self._botocore = _botocore_session
        else:
            try:
                self._botocore = botocore.session.Session(profile=params.profile)
            except botocore.exceptions.ProfileNotFound:
                raise ValidationError(f"AWS profile {params.profile!r} was not found in the shared config/credentials files")
        if _credentials is not None:
            self._credentials = _credentials
        elif params.access_key:
            self._credentials = (params.access_key, t.cast(str, params.secret_key), params.session_token)
        else:
            self._credentials = None  # botocore's default chain (env, profile, instance role ...)

    # -- clients ----------------------------------------------------------
    @property
    def region(self) -> str:
        return self.info.region

    @property
    def partition(self) -> str:
        return self.info.partition

    def client(self, service: str, region: t.Optional[str] = None, retries: bool = True) -> t.Any:
        """A cached, thread-safe client.  IAM is signed for the partition's IAM
        region, everything else for ``region`` (default: the connection's).
        ``retries=False`` gives a client that never retries by itself, for
        calls that are not idempotent (the caller decides what is safe), except
        a throttled answer: AWS did nothing, so trying again is always safe."""
        region = region or self.info.region
        if service != "iam" and resolve(region).partition != self.info.partition:
            raise PartitionError(
                f"region {region} is in partition {resolve(region).partition}, but this connection is for "
                f"{self.info.partition}: credentials never work across partitions"
            )
        key = (service, region, retries)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._make_client(service, region, retries)
                self._clients[key] = client
        return client

    def keyed_client(self, service: str, access_key: str, secret_key: str, session_token: t.Optional[str] = None,
                     region: t.Optional[str] = None) -> KeyedClient:
        """A client of this connection's endpoints and settings that signs with another key (to verify a new key,
        or to confirm a retired one is refused).  The botocore client behind it is built once per service and
        region and shared by every key and thread: each call sets the calling thread's signing key just for
        itself.  A call without one is signed with a key that never authenticates (fails closed)."""
        region = region or self.info.region
        if service != "iam" and resolve(region).partition != self.info.partition:
            raise PartitionError(
                f"region {region} is in partition {resolve(region).partition}, but this connection is for "
                f"{self.info.partition}: credentials never work across partitions"
            )
        key = (service, region)
        shared = self._keyed.get(key)
        if shared is None:
            with self._lock:
                shared = self._keyed.get(key)
                if shared is None:
                    slot = _SigningKey()
                    client = self._make_client(service, region, credentials=_UNSET)
                    client.meta.events.register("before-sign", _sign_with_thread_key(slot))
                    shared = self._keyed[key] = (client, slot)
        return KeyedClient(shared[0], shared[1], botocore.credentials.Credentials(access_key, secret_key, session_token))

    def _make_client(self, service: str, region: str, retries: bool = True,
                     credentials: t.Optional[t.Tuple[str, str, t.Optional[str]]] = None) -> t.Any:
        signing_region = resolve(region).iam_signing_region if service == "iam" else region
        config = self._config if retries else self._config.merge(botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}))
        kwargs: t.Dict[str, t.Any] = dict(region_name=signing_region, config=config)
        if self.params.endpoint_url:
            kwargs["endpoint_url"] = self.params.endpoint_url
        if self.params.aws_ca_bundle:
            kwargs["verify"] = self.params.aws_ca_bundle
        elif not self.params.validate_certs:
            kwargs["verify"] = False
        credentials = credentials or self._credentials
        if credentials is not None:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"], kwargs["aws_session_token"] = credentials
        try:
            with _CREATE_LOCK:
                client = self._botocore.create_client(service, **kwargs)
            register_throttle_retry(client)
            return client
        except botocore.exceptions.NoRegionError:
            raise ValidationError("region is required")
        except botocore.exceptions.BotoCoreError as exc:
            raise KeyturnError(f"could not create the {service} client: {type(exc).__name__}: {exc}")

    # -- identities -------------------------------------------------------
    def with_credentials(self, access_key: str, secret_key: str, session_token: t.Optional[str] = None) -> "AwsConnection":
        """Same endpoints, settings and botocore session, other credentials
        (used to verify a new key and for ``self_rotate``)."""
        params = dataclasses.replace(self.params, access_key=access_key, secret_key=secret_key,
                                     session_token=session_token, profile=None, assume_role=None)
        return AwsConnection(params, _credentials=(access_key, secret_key, session_token),
                             _botocore_session=self._botocore, **self._settings)

    def switch_credentials(self, access_key: str, secret_key: str) -> None:
        """Sign every later call of this connection (and of the stores built on it) with another key: used when
        a task rotates the IAM user it runs as, so it never signs with the key it retires."""
        with self._lock:
            self.params = dataclasses.replace(self.params, access_key=access_key, secret_key=secret_key,
                                              session_token=None, profile=None)
            self._credentials = (access_key, secret_key, None)
            self._clients = {}

    def assumed(self) -> "AwsConnection":
        """The connection to do the work with: this one, or the assumed role's."""
        role = self.params.assume_role
        if role is None:
            return self
        kwargs: t.Dict[str, t.Any] = dict(RoleArn=role.role_arn, RoleSessionName=role.session_name,
                                          DurationSeconds=role.duration_seconds)
        if role.external_id:
            kwargs["ExternalId"] = role.external_id
        role_partition = partition_of_arn(role.role_arn)
        if role_partition != self.info.partition:
            raise PartitionError(
                f"assume_role.role_arn is in partition {role_partition!r} but region {self.info.region} is in "
                f"{self.info.partition!r}; roles can only be assumed within one partition"
            )
        try:
            creds = self.client("sts").assume_role(**kwargs)["Credentials"]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise translate_aws_error(exc, f"assuming role {role.role_arn}")
        conn = self.with_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return conn

    def caller_identity(self, doing: str = "calling STS GetCallerIdentity") -> t.Dict[str, str]:
        try:
            ident = self.client("sts").get_caller_identity()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise translate_aws_error(exc, doing)
        return {"arn": ident["Arn"], "account": ident["Account"], "user_id": ident["UserId"]}

    def client_factory(self) -> t.Callable[[str, t.Optional[str]], t.Any]:
        """``factory(service, region)`` for stores (uses this identity)."""
        return lambda service, region=None: self.client(service, region)


def aws_call_errors() -> t.Tuple[type, ...]:
    """Exception classes an AWS call can raise (for ``except`` clauses)."""
    return (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
