import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfigService } from '../config/config.module';
import { CONNECT_RATE, connectRate } from './connect-rate';
import { AddressCheck, CapacityCheck, OriginCheck } from './upgrade-checks';

/**
 * What a client may do before it is cut off: the upgrade checks the adapter asks in front of
 * the token check (origin, capacity, per address), and the connect rate they share.
 */
@Module({
  providers: [
    OriginCheck,
    CapacityCheck,
    AddressCheck,
    {
      provide: CONNECT_RATE,
      inject: [ConfigService],
      useFactory: (config: AppConfigService) =>
        connectRate({
          connectRatePerIp: config.get('connectRatePerIp', { infer: true }),
          connectBurstPerIp: config.get('connectBurstPerIp', { infer: true }),
          redisUrl: config.get('redisUrl', { infer: true }),
          redisClusterNodes: config.get('redisClusterNodes', { infer: true }),
          redisPrefix: config.get('redisPrefix', { infer: true }),
        }),
    },
  ],
  exports: [OriginCheck, CapacityCheck, AddressCheck],
})
export class LimitsModule {}
