#ifndef DELIVERY_CZEROMQ_SHIM_H
#define DELIVERY_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#endif
