"""NAS-Bench-101's ``ModelMetrics`` protobuf, declared in Python (no protoc, no TensorFlow).

The message layout is the benchmark's ``nasbench/lib/model_metrics.proto`` (proto2, package
``nasbench``), rebuilt here field by field as a ``FileDescriptorProto`` and turned into message
classes at run time by the ``protobuf`` package::

    message ModelMetrics {
      repeated EvaluationData evaluation_data = 1;   // start, halfway, end of training
      optional int32 trainable_parameters = 2;
      optional double total_time = 3;
    }
    message EvaluationData {
      optional double current_epoch = 1;
      optional double training_time = 2;            // seconds, evaluation excluded
      optional double train_accuracy = 3;
      optional double validation_accuracy = 4;
      optional double test_accuracy = 5;
      optional string checkpoint_path = 6;
    }

The classes live in a private descriptor pool, so they never clash with a ``model_metrics_pb2``
the user's own process may have imported.
"""
from __future__ import annotations

from functools import lru_cache

from nasearch.errors import UsageError

PACKAGE = "nasbench"
#: (message, [(field, number, label, type)]) with the descriptor's label/type names
LAYOUT: tuple[tuple[str, tuple[tuple[str, int, str, str], ...]], ...] = (
    ("ModelMetrics", (
        ("evaluation_data", 1, "LABEL_REPEATED", ".nasbench.EvaluationData"),
        ("trainable_parameters", 2, "LABEL_OPTIONAL", "TYPE_INT32"),
        ("total_time", 3, "LABEL_OPTIONAL", "TYPE_DOUBLE"),
    )),
    ("EvaluationData", (
        ("current_epoch", 1, "LABEL_OPTIONAL", "TYPE_DOUBLE"),
        ("training_time", 2, "LABEL_OPTIONAL", "TYPE_DOUBLE"),
        ("train_accuracy", 3, "LABEL_OPTIONAL", "TYPE_DOUBLE"),
        ("validation_accuracy", 4, "LABEL_OPTIONAL", "TYPE_DOUBLE"),
        ("test_accuracy", 5, "LABEL_OPTIONAL", "TYPE_DOUBLE"),
        ("checkpoint_path", 6, "LABEL_OPTIONAL", "TYPE_STRING"),
    )),
)


def _protobuf():
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ModuleNotFoundError:
        raise UsageError(
            "reading NAS-Bench-101 files needs the 'protobuf' package: pip install protobuf"
        ) from None
    return descriptor_pb2, descriptor_pool, message_factory


@lru_cache(maxsize=1)
def message_classes() -> tuple[type, type]:
    """``(ModelMetrics, EvaluationData)`` message classes."""
    descriptor_pb2, descriptor_pool, message_factory = _protobuf()
    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="nasearch/nb101/model_metrics.proto", package=PACKAGE, syntax="proto2"
    )
    for message_name, fields in LAYOUT:
        message = file.message_type.add(name=message_name)
        for name, number, label, kind in fields:
            entry = message.field.add(name=name, number=number, label=getattr(field, label))
            if kind.startswith("."):
                entry.type = field.TYPE_MESSAGE
                entry.type_name = kind
            else:
                entry.type = getattr(field, kind)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    classes = []
    for message_name, _fields in LAYOUT:
        descriptor = pool.FindMessageTypeByName(f"{PACKAGE}.{message_name}")
        if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21
            classes.append(message_factory.GetMessageClass(descriptor))
        else:  # pragma: no cover - protobuf 3.x
            classes.append(message_factory.MessageFactory(pool).GetPrototype(descriptor))
    return classes[0], classes[1]


def decode_error() -> type[Exception]:
    """The exception ``FromString`` raises on bytes that are not a valid message."""
    from google.protobuf.message import DecodeError

    return DecodeError
