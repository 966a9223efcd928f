'use strict';
// An independent OCPP charge point (ocpp-rpc, strict JSON-schema validation both ways) used to
// check that the twin's CSMS interoperates with an implementation we did not write.
//
// usage: node charge_point.js <endpoint> <identity> <ocpp1.6|ocpp2.0.1|ocpp2.1> [password]
// stdout: one JSON object per line: {"event": "ready", ...} then {"event": "done", ...}.
// The charge point stays connected until stdin closes, so the test can read the CSMS state.

const { RPCClient, createRPCError, createValidator } = require('ocpp-rpc');

const [endpoint, identity, protocol, password] = process.argv.slice(2);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const now = () => new Date().toISOString();

// ocpp-rpc 2.2.1 ships the OCPP 2.1 schemas with ids 'urn:<Action>Request'/'Response' but looks
// them up as 'urn:<Action>.req'/'.conf', so its stock 2.1 strict mode refuses every call. Same
// schemas, ids renamed: strict 2.1 validation as the library intends.
function strictValidators21() {
  const schemas = require('ocpp-rpc/lib/schemas/ocpp2_1.json').map((schema) => ({
    ...schema,
    $id: schema.$id.replace(/Request$/, '.req').replace(/Response$/, '.conf'),
  }));
  return [createValidator('ocpp2.1', schemas)];
}

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms));
}

async function main() {
  const client = new RPCClient({
    endpoint,
    identity,
    protocols: [protocol],
    strictMode: true,
    strictModeValidators: protocol === 'ocpp2.1' ? strictValidators21() : [],
    password: password || undefined,
    reconnect: false,
    callTimeoutMs: 10000,
  });
  const profiles = [];
  const configuration = [];
  const validationFailures = [];
  let profileReceived;
  const gotProfile = new Promise((resolve) => { profileReceived = resolve; });

  client.on('strictValidationFailure', ({ error, isCall, outbound }) => {
    validationFailures.push({ message: String(error && error.message), isCall, outbound });
  });
  client.handle('SetChargingProfile', ({ params }) => {
    profiles.push(params);
    profileReceived(params);
    return { status: 'Accepted' };
  });
  client.handle('ChangeConfiguration', ({ params }) => {
    configuration.push(params);
    return { status: 'Accepted' };
  });
  client.handle('SetVariables', ({ params }) => {
    configuration.push(params);
    return {
      setVariableResult: params.setVariableData.map((d) => ({
        attributeStatus: 'Accepted', component: d.component, variable: d.variable,
      })),
    };
  });
  client.handle('ClearChargingProfile', () => ({ status: 'Accepted' }));
  client.handle(({ method }) => {
    throw createRPCError('NotImplemented', `${method} is not emulated`);
  });

  await client.connect();
  let boot;
  let transactionId;
  if (protocol === 'ocpp1.6') {
    boot = await client.call('BootNotification', {
      chargePointVendor: 'ocpp-rpc', chargePointModel: 'interop',
    });
    await client.call('StatusNotification', {
      connectorId: 1, errorCode: 'NoError', status: 'Preparing',
    });
    const started = await client.call('StartTransaction', {
      connectorId: 1, idTag: 'INTEROP', meterStart: 0, timestamp: now(),
    });
    transactionId = started.transactionId;
  } else {
    boot = await client.call('BootNotification', {
      reason: 'PowerUp', chargingStation: { model: 'interop', vendorName: 'ocpp-rpc' },
    });
    await client.call('StatusNotification', {
      timestamp: now(), connectorStatus: 'Occupied', evseId: 1, connectorId: 1,
    });
    transactionId = 'interop-tx-1';
    await client.call('TransactionEvent', {
      eventType: 'Started', timestamp: now(), triggerReason: 'CablePluggedIn', seqNo: 0,
      transactionInfo: { transactionId }, evse: { id: 1, connectorId: 1 },
      idToken: { idToken: 'INTEROP', type: 'Central' },
    });
    if (protocol === 'ocpp2.1') {
      await client.call('NotifyEVChargingNeeds', {
        evseId: 1,
        chargingNeeds: { requestedEnergyTransfer: 'AC_BPT', availableEnergyTransfer: ['AC_BPT'] },
      });
    }
  }
  emit({ event: 'ready', boot, transactionId });

  const request = await Promise.race([gotProfile, timeout(10000, 'SetChargingProfile')]);
  const profile = protocol === 'ocpp1.6' ? request.csChargingProfiles : request.chargingProfile;
  const schedule = protocol === 'ocpp1.6' ? profile.chargingSchedule : profile.chargingSchedule[0];
  const period = schedule.chargingSchedulePeriod[0];
  // Echo the commanded power as measured power: + import / - export.
  const powerW = period.setpoint !== undefined ? period.setpoint : period.limit;
  const importW = Math.max(powerW, 0);
  const exportW = Math.max(-powerW, 0);

  if (protocol === 'ocpp1.6') {
    await client.call('MeterValues', {
      connectorId: 1, transactionId,
      meterValue: [{
        timestamp: now(),
        sampledValue: [
          { value: importW.toFixed(1), measurand: 'Power.Active.Import', unit: 'W' },
          { value: exportW.toFixed(1), measurand: 'Power.Active.Export', unit: 'W' },
          { value: '1234.5', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
          { value: '55', measurand: 'SoC', unit: 'Percent', location: 'EV' },
        ],
      }],
    });
  } else {
    await client.call('MeterValues', {
      evseId: 1,
      meterValue: [{
        timestamp: now(),
        sampledValue: [
          { value: importW, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
          { value: exportW, measurand: 'Power.Active.Export', unitOfMeasure: { unit: 'W' } },
          // kWh here (the twin's own emulator uses Wh): checks the CSMS reads the unit.
          { value: 1.2345, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'kWh' } },
          { value: 55, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' } },
        ],
      }],
    });
  }
  emit({ event: 'done', profiles, configuration, validationFailures });

  await new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.resume();
  });
  await client.close({ code: 1000 });
}

main().then(
  () => process.exit(0),
  (err) => {
    emit({ event: 'error', message: String(err && (err.stack || err.message || err)) });
    process.exit(1);
  },
);
