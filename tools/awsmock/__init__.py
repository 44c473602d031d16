# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A moto server that behaves like AWS where keyturn.aws depends on it.

Used by the integration tests, the benchmarks and ``make demo``; never part of
the built collection.  It binds to loopback only.
"""
