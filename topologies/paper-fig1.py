# The example topology of the ViNO paper (Fig. 1): two switches in different regions,
# one host behind each. Import with: vino-controller import-dsl topologies/paper-fig1.py
nodes['sw1'] = {'contr_addr': '10.12.11.26:6633', 'region':'CORE', 'flavor': 'm1.small',
                'bridge_name': 'sw1_br', 'int_ip': ('p1', '192.168.200.18')}
nodes['sw2'] = {'contr_addr': '10.12.11.26:6633', 'region':'EDGE-TR1', 'flavor': 'm1.small'}
nodes['h1'] = {'region':'CORE', 'flavor': 'm1.tiny'}
nodes['h2'] = {'region':'CORE', 'flavor': 'm1.tiny'}
topology['sw1'] = [('h1', '192.168.200.10', 'h1_br')]
topology['sw2'] = ['sw1', ('h2', '192.168.200.11')]
